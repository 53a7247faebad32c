//! The `list_groups` Lambda: see `im_functions::by_name::list_groups`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_groups()).await
}
