//! The `export_user` Lambda: see `im_functions::by_name::export_user`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::export_user()).await
}
