//! The `list_group_members` Lambda: see `im_functions::by_name::list_group_members`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_group_members()).await
}
